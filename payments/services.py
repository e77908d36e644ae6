"""The payments app's public interface: charging, refunding, and the gateways behind them (test and Stripe).

Arrives with the checkout issue.
"""
