"""A scripted OpenAI-compatible server on loopback: the test peer of `orchestrator.llm` and the benchmarks' model."""

from support_testing.openai_emulator.answers import (
    Answer,
    ScriptedCall,
    malformed_json,
    malformed_tool_call,
    refusal,
    router_answer,
    text,
    tool_call,
    tool_calls,
)
from support_testing.openai_emulator.app import (
    DEFAULT_MODELS,
    EMULATOR_API_KEY,
    OpenAIEmulator,
    RequestRecord,
    estimate_tokens,
)
from support_testing.openai_emulator.faults import Fault, FaultPlan
from support_testing.openai_emulator.scripts import (
    DefaultScript,
    EchoScript,
    HostileScript,
    Script,
    SmugglerScript,
    in_order,
    route,
)
from support_testing.openai_emulator.server import SwappableEmulator, serve_emulator, serve_swappable

__all__ = [
    "DEFAULT_MODELS",
    "EMULATOR_API_KEY",
    "Answer",
    "DefaultScript",
    "EchoScript",
    "Fault",
    "FaultPlan",
    "HostileScript",
    "OpenAIEmulator",
    "RequestRecord",
    "Script",
    "ScriptedCall",
    "SmugglerScript",
    "SwappableEmulator",
    "estimate_tokens",
    "in_order",
    "malformed_json",
    "malformed_tool_call",
    "refusal",
    "route",
    "router_answer",
    "serve_emulator",
    "serve_swappable",
    "text",
    "tool_call",
    "tool_calls",
]
