"""Adapters: the wire protocols the voice bridge speaks (OpenAI Realtime, Twilio)."""
