"""What the scripted coach endpoint answers in the fault and load tests."""

from practice.services.agents import issue_key
from tests.factories import AgentFactory, SkillFactory

# A valid reflection for any attempt: no fault, no strategy (positions left out on purpose, so
# it fits every trace).
ANSWER = {
    "performance_trace": [
        {"position": None, "action": "respond", "status": "ok", "note": "Answered."}
    ],
    "decision_points": [],
    "fault_author": "none",
    "fault_type": "none",
    "causal_analysis": "The agent did what the task asked.",
    "strategies": [],
    "failure_mode": None,
}
NO_CLIENT_RETRY = {"x-should-retry": "false"}


def attempt_payload(number, *, skill="tools.orders", external_id=None, success=False):
    payload = {
        "skill": skill,
        "success": success,
        "score": 1.0 if success else 0.0,
        "task_input": f"Please look up order #W{number:07d}.",
        "expected_actions": [
            {"name": "get_order_details", "arguments": {"order_id": f"#W{number:07d}"}}
        ],
        "trace": {
            "format": "steps",
            "steps": [
                {
                    "action": "get_order_details",
                    "arguments": {"order_id": "#W9999999"},
                    "actual": "Error: order not found",
                    "ok": False,
                }
            ],
        },
    }
    if external_id is not None:
        payload["external_id"] = external_id
    return payload


def agent_with_key(name="orders-bot", boundaries=("tools",)):
    for key in boundaries:
        SkillFactory(key=f"{key}.orders")
    agent = AgentFactory(name=name, boundaries=list(boundaries))
    return agent, issue_key(agent).secret
