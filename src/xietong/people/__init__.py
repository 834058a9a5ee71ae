"""People: persons with a responsible district (residence) apart from where they are now."""
