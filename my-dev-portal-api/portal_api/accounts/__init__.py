"""Accounts: users, passwords, sessions."""
