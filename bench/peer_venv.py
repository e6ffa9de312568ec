"""The virtual environment the peer scripts run in: bench/.venv, created and filled on first use,
so a benchmark installs its peers itself and nothing is installed system-wide."""
import os, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, "bench", ".venv")
PY = os.path.join(VENV, "bin", "python")


def sh(cmd, **kw):
    print("+", " ".join(cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, **kw)


def ensure_venv(script, modules, packages):
    """Re-executes `script` inside bench/.venv once `modules` import there (installing
    `packages` with pip when they do not)."""
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(PY):
        sh([sys.executable, "-m", "venv", VENV])
    try:
        sh([PY, "-c", "import " + ", ".join(modules)], stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError:
        sh([PY, "-m", "pip", "install", "-q"] + list(packages))
    os.execv(PY, [PY, os.path.abspath(script)] + sys.argv[1:])
