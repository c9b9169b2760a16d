from django.urls import path, re_path

from practice.api import attempts, base, learning, pulls

app_name = "api"
urlpatterns = [
    path("attempts/", attempts.AttemptsView.as_view(), name="attempts"),
    path("attempts/bulk/", attempts.BulkAttemptsView.as_view(), name="attempts-bulk"),
    path("memory/", pulls.MemoryView.as_view(), name="memory"),
    path("memory/prompt/", pulls.MemoryPromptView.as_view(), name="memory-prompt"),
    path(
        "strategies/<int:strategy_id>/feedback/",
        learning.FeedbackView.as_view(),
        name="feedback",
    ),
    path("practice/next/", learning.PracticeNextView.as_view(), name="practice-next"),
    path("taxonomy/proposals/", learning.ProposalsView.as_view(), name="proposals"),
    path("competency/", learning.CompetencyView.as_view(), name="competency"),
    re_path(r"^.*$", base.unknown_endpoint, name="unknown"),
]
