"""The orders app's public interface: placing orders (the checkout saga), transitions, order history.

Arrives with the checkout issue; DESIGN.md describes the saga it will run.
"""
