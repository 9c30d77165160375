"""On-call notification: who is on call, over which channels, and what they are told about alarms.

``config`` reads the rota and channel file (``SW_ONCALL_FILE``), ``policy`` decides purely who gets which
message when (de-duplication, escalation, flood digests), ``messages`` renders the texts in the reader's
language, ``channels`` sends them (SMTP e-mail, JSON webhook, DingTalk and WeCom group robots) and
``services.notify`` runs it all next to the alarm engine.
"""
