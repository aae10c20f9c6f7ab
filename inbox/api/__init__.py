"""The mobile app's JSON API under ``/api/v1/``: token auth, endpoints, OpenAPI description."""
