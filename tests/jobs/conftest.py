from tests.support.jobs import design_fixture, market_fixture  # noqa: F401 - fixtures
