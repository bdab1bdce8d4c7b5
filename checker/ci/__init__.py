"""CI entry points: read a CI system's environment, run the core check, publish the CI's way."""
