"""The shell around the apps, at the top of the layers: the home page that sends each role to its
pages, ``/healthz``, the schedules installed by ``setup_schedules``, the worker heartbeat task and
the demo (``seed_demo``)."""
