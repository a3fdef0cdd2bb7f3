"""The OpenAI chat-completions fake, now shared by every service in `servicekit.testing.openai_fake_chat`;
re-exported here so rag's tests keep their imports."""

from servicekit.testing.openai_fake_chat import (
    FakeOpenAIChat,
    FakeReply,
    FakeToolCall,
    RecordedRequest,
    strict_schema_problems,
)

__all__ = ["FakeOpenAIChat", "FakeReply", "FakeToolCall", "RecordedRequest", "strict_schema_problems"]
