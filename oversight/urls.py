"""Pages of the oversight app: the review queue, review items (strategies, taxonomy proposals,
scenario variants) and strategy histories."""

from django.urls import path

from oversight.views import proposals, review, scenarios, strategies

app_name = "oversight"
urlpatterns = [
    path("review/", review.queue, name="review-queue"),
    path("review/bulk/", review.bulk, name="review-bulk"),
    path("review/strategy/<int:pk>/", strategies.strategy_item, name="strategy-review"),
    path("review/strategy/<int:pk>/accept/", strategies.strategy_accept, name="strategy-accept"),
    path("review/strategy/<int:pk>/edit/", strategies.strategy_edit, name="strategy-edit"),
    path(
        "review/strategy/<int:pk>/edit/preview/",
        strategies.strategy_edit_preview,
        name="strategy-edit-preview",
    ),
    path("review/strategy/<int:pk>/reject/", strategies.strategy_reject, name="strategy-reject"),
    path("review/strategy/<int:pk>/resolve/", strategies.strategy_resolve, name="strategy-resolve"),
    path("review/strategy/<int:pk>/retire/", strategies.strategy_retire, name="strategy-retire"),
    path(
        "review/strategy/<int:pk>/put-back/", strategies.strategy_put_back, name="strategy-put-back"
    ),
    path("review/proposal/<int:pk>/", proposals.proposal_item, name="proposal-review"),
    path("review/proposal/<int:pk>/accept/", proposals.proposal_accept, name="proposal-accept"),
    path("review/proposal/<int:pk>/reject/", proposals.proposal_reject, name="proposal-reject"),
    path(
        "review/proposal/<int:pk>/put-back/", proposals.proposal_put_back, name="proposal-put-back"
    ),
    path("review/scenario/<int:pk>/", scenarios.scenario_item, name="scenario-review"),
    path("review/scenario/<int:pk>/accept/", scenarios.scenario_accept, name="scenario-accept"),
    path("review/scenario/<int:pk>/edit/", scenarios.scenario_edit, name="scenario-edit"),
    path(
        "review/scenario/<int:pk>/edit/preview/",
        scenarios.scenario_edit_preview,
        name="scenario-edit-preview",
    ),
    path("review/scenario/<int:pk>/reject/", scenarios.scenario_reject, name="scenario-reject"),
    path(
        "review/scenario/<int:pk>/put-back/", scenarios.scenario_put_back, name="scenario-put-back"
    ),
    path("strategies/<int:pk>/history/", strategies.strategy_history, name="strategy-history"),
    path(
        "strategies/<int:pk>/history/restore/<int:number>/",
        strategies.strategy_restore,
        name="strategy-restore",
    ),
]
