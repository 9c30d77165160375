"""``python -m plant.generate_demo``, the command the demo plant file's header names: runs the generator, which
lives outside the runtime packages (``python -m demo.generate``, tables in ``demo/data/``). Nothing imports this."""

import runpy

if __name__ == "__main__":
    runpy.run_module("demo.generate", run_name="__main__", alter_sys=True)
