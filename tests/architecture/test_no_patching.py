"""Django, DRF, redis-py and Celery are used, never patched: no code of ours (tests included) assigns to an attribute
of their modules or of anything imported from them, with ``=``, ``setattr`` or ``monkeypatch.setattr``. Their
behaviour stays theirs, and an upgrade cannot silently undo one of ours."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = ("django", "rest_framework", "redis", "celery", "kombu", "django_redis")
SKIP = {".venv", ".data", ".git", "node_modules"}


def _framework(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in FRAMEWORKS


def _our_files():
    for path in ROOT.rglob("*.py"):
        if not SKIP.intersection(path.relative_to(ROOT).parts):
            yield path


def _patches(tree: ast.AST) -> list[str]:
    imported: set[str] = set()  # local names bound to a framework module or to something taken from one
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update((alias.asname or alias.name).split(".")[0] for alias in node.names
                            if _framework(alias.name))
        elif isinstance(node, ast.ImportFrom) and _framework(node.module):
            imported.update(alias.asname or alias.name for alias in node.names)

    def rooted(target: ast.AST) -> bool:
        while isinstance(target, ast.Attribute):
            target = target.value
        return isinstance(target, ast.Name) and target.id in imported

    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else (
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
        found += [ast.unparse(t) for t in targets if isinstance(t, ast.Attribute) and rooted(t.value)]
        if isinstance(node, ast.Call) and node.args:
            name = ast.unparse(node.func)
            if name == "setattr" or name.endswith("monkeypatch.setattr"):
                first = node.args[0]
                text = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                if (text and _framework(text)) or rooted(first):
                    found.append(f"{name}({ast.unparse(first)}, …)")
    return found


def test_no_code_assigns_into_django_drf_redis_or_celery():
    offenders = {}
    for path in _our_files():
        patches = _patches(ast.parse(path.read_text(), filename=str(path)))
        if patches:
            offenders[str(path.relative_to(ROOT))] = patches
    assert offenders == {}


def test_the_check_catches_each_way_of_patching():
    samples = {
        "from django.utils import crypto\ncrypto.get_random_string = lambda n: 'x'": 1,
        "import django.middleware.csrf as c\nc._get_new_csrf_string = None": 1,
        "import redis\nsetattr(redis.Redis, 'get', None)": 1,
        "def t(monkeypatch):\n    monkeypatch.setattr('celery.app.task.Task.delay', None)": 1,
        "from rest_framework.views import APIView\nAPIView.dispatch = None": 1,
        "from orders import services\nservices.order_cancel = None": 0,  # our own code: a fault test may
        "import django_ratelimit.core\ndjango_ratelimit.core.time = None": 0,  # not a framework listed
    }
    assert {code: len(_patches(ast.parse(code))) for code in samples} == samples
