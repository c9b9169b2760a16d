from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = "Oversight"

    def ready(self):
        from oversight import receivers  # noqa: F401  (connects the audit receivers)
