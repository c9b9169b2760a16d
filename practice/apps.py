from django.apps import AppConfig


class PracticeConfig(AppConfig):
    name = "practice"
    verbose_name = "Practice"

    def ready(self):
        from practice import caches, tasks
        from practice.services import attempts

        # New attempts go to the workers once their transaction has committed.
        if tasks.enqueue_after_commit not in attempts.after_commit_hooks:
            attempts.after_commit_hooks.append(tasks.enqueue_after_commit)
        caches.connect()
