"""The demo plant as data: the tables in ``demo/data/`` and ``python -m demo.generate``, which writes
``plant/demo_smelter.yaml`` from them. A development tool: no runtime package imports it."""
