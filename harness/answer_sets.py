"""The named answer sets every generation test runs against.

Together they cover every value of every question at least once, and the pairs that
interact: each deploy_target x include_frontend, integrations none / one / all, extra
secrets, several instances (fixed and Render's autoscaling) and each platform's own URLs.
"""

from typing import Any

ALL_INTEGRATIONS = ["anthropic", "google_oauth", "microsoft_oauth"]

ANSWER_SETS: dict[str, dict[str, Any]] = {
    "default": {},
    "railway": {"deploy_target": "railway", "instances": 3},
    "railway-nofrontend": {
        "deploy_target": "railway",
        "include_frontend": False,
        "python_version": "3.11",
    },
    "render": {"deploy_target": "render", "python_version": "3.13", "instances": 2},
    "render-autoscaling": {"deploy_target": "render", "instances": 2, "max_instances": 6},
    "render-nofrontend": {"deploy_target": "render", "include_frontend": False},
    "both-urls": {
        "deploy_target": "both",
        "workers": 1,
        "timeout": 30,
        "backend_url": "https://api.acme.dev",
        "cors_origins": "https://app.acme.dev",
        "railway_backend_url": "https://api-railway.acme.dev",
        "railway_origins": "https://app-railway.acme.dev,https://admin.acme.dev",
    },
    "both-nofrontend": {"deploy_target": "both", "include_frontend": False, "workers": 32},
    "both-nofrontend-scaled": {
        "deploy_target": "both",
        "include_frontend": False,
        "timeout": 900,
        "instances": 100,
    },
    "none": {"deploy_target": "none", "integrations": []},
    "none-nofrontend": {"deploy_target": "none", "include_frontend": False},
    "no-integrations": {"integrations": []},
    "ai-only": {"integrations": ["anthropic"]},
    "google-only": {"integrations": ["google_oauth"]},
    "microsoft-only": {"integrations": ["microsoft_oauth"], "deploy_target": "railway"},
    # The app on one kind of platform only: the web, or phones (with sign-in and chat).
    "web-only": {"flutter_platforms": ["web"]},
    "phones-only": {"flutter_platforms": ["android", "ios"], "app_scheme": "dev.acme.chat"},
    "extra-secrets": {
        "project_name": "Acme Support Desk",
        "description": "Answers support tickets.",
        "github_repository": "acme/support-desk",
        "extra_secrets": ["STRIPE_API_KEY", "SENTRY_DSN"],
        "backend_url": "https://api.acme.dev",
        "cors_origins": "https://app.acme.dev,https://admin.acme.dev",
        "workers": 2,
        "timeout": 60,
    },
}
