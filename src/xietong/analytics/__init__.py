"""The situation picture: daily aggregates per district, trend, forecast and scenarios."""
