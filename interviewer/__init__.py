"""Interviewer: a self-hostable, chat-based mock interviewer."""
