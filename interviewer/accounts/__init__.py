"""Accounts, roles, sign-in and interview links, for a team's shared deployment."""
