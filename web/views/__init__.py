"""The console's pages, one blueprint per feature: ``dashboard`` (``/``), ``stream``
(``/live/stream``), ``nodes``, ``events``, ``alarms``, ``users``, ``audit`` and ``api``
(``/api/v1/``); ``errors`` holds the error pages."""
