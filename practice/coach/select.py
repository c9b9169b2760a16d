"""Which coach reflects: the LLM coach when an endpoint is configured, else the offline one."""

from django.conf import settings

from practice.coach.offline import TraceDiffCoach


def get_coach():
    if settings.OPENAI_BASE_URL and settings.ETUDE_COACH_MODEL:
        from practice.coach.llm import LLMCoach

        return LLMCoach(
            base_url=settings.OPENAI_BASE_URL,
            api_key=settings.OPENAI_API_KEY,
            model=settings.ETUDE_COACH_MODEL,
            timeout=settings.ETUDE_COACH_TIMEOUT,
        )
    return TraceDiffCoach()
