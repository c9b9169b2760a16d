from django.urls import path, re_path

from practice import api

app_name = "api"
urlpatterns = [
    path("attempts/", api.AttemptsView.as_view(), name="attempts"),
    path("attempts/bulk/", api.BulkAttemptsView.as_view(), name="attempts-bulk"),
    path("memory/", api.MemoryView.as_view(), name="memory"),
    path("memory/prompt/", api.MemoryPromptView.as_view(), name="memory-prompt"),
    path("strategies/<int:strategy_id>/feedback/", api.FeedbackView.as_view(), name="feedback"),
    path("practice/next/", api.PracticeNextView.as_view(), name="practice-next"),
    path("taxonomy/proposals/", api.ProposalsView.as_view(), name="proposals"),
    path("competency/", api.CompetencyView.as_view(), name="competency"),
    re_path(r"^.*$", api.unknown_endpoint, name="unknown"),
]
