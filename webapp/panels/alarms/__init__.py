"""The panels of the alarm list (``webapp.pages.alarms``): filters, the live list, the history tab, the
details and journal of one alarm, and the actions (confirmation dialog, operator commands, their answers).
Each module holds a panel's layout builders and its callbacks, checked against the page's line of the
policy."""
