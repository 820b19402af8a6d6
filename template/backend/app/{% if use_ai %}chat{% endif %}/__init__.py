"""AI chat: the streaming route, its request schema, and the model providers."""
