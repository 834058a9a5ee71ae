"""Areas: the hierarchy city → district (reporting unit) → street → community → building."""
