"""Voice-bridge domain: call state and rules, free of transport code."""
