"""Partnerdesk's Desk: models, services, FAB views and REST APIs."""
