"""Publish layer: post results to GitHub/GitLab over REST (the only layer that imports requests)."""
