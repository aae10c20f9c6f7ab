"""The shell around the apps, at the top of the layers: the home page that sends each role to its
pages, ``/healthz`` and ``/readyz``, the schedules installed by ``setup_schedules``, the worker
heartbeat and retention tasks (``retention``: what is pruned, and when), the request log context
(``middleware``) and the demo (``seed_demo``)."""
