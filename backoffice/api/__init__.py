"""REST APIs (FAB ModelRestApi), documented at /api/v1/_openapi."""
