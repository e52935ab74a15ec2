"""Topic names (CONTRACT §1–2 defaults)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TopicSettings(BaseModel):
    topic_tickets: str = Field(
        default="support.tickets", description="Input topic of ticket events (CONTRACT §1)."
    )
    topic_chats: str = Field(default="support.chats", description="Input topic of chat events.")
    topic_agents: str = Field(
        default="support.agents", description="Input topic of agent presence events."
    )
    topic_commerce: str = Field(
        default="support.commerce",
        description="Input topic of orders, campaigns and self-service sessions.",
    )
    topic_sla: str = Field(
        default="support.sla", description="Output topic of SLA events (CONTRACT §2)."
    )
    topic_staffing: str = Field(
        default="support.staffing", description="Output topic of staffing signals."
    )
    topic_dlq: str = Field(
        default="support.dlq",
        description="Dead-letter topic: rejected input, raw bytes with reason headers.",
    )

    @property
    def input_topics(self) -> dict[str, str]:
        """Stream name (the `stream` label) → topic name."""
        return {
            "tickets": self.topic_tickets,
            "chats": self.topic_chats,
            "agents": self.topic_agents,
            "commerce": self.topic_commerce,
        }
