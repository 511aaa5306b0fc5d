#!/bin/bash
# check-man-pages.sh [SRCDIR] - every function declared in include/iommufd/*.h
# has a manual page doc/man/NAME.3 (a page of its own, or a ".so man3/X.3"
# link to a page that documents it); that page's SYNOPSIS includes the header
# and gives the prototype exactly as the header does; every page is listed in
# doc/meson.build; and groff (when installed) has no warning about any page.
# Exit 0 when all hold, 1 otherwise, with one line per problem.
set -euo pipefail

src=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
lint=no
if command -v groff >/dev/null; then
	lint=yes
fi

exec python3 - "$src" "$lint" <<'PY'
import glob, os, re, subprocess, sys

src, lint = sys.argv[1], sys.argv[2] == "yes"
man = os.path.join(src, "doc", "man")
problems = []

def strip_c(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # preprocessor lines, with their continuations
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text

def norm(s):
    s = " ".join(s.split())
    s = re.sub(r"\s*([*(),;\[\]])\s*", r"\1", s)
    return s

# name -> (header, normalized prototype)
decls = {}
for h in sorted(glob.glob(os.path.join(src, "include", "iommufd", "*.h"))):
    body = strip_c(open(h, encoding="utf-8").read())
    body = body.replace('extern "C" {', " ")
    for stmt in re.split(r"[;{}]", body):
        m = re.search(r"\b(iommufd_[a-z0-9_]+)\s*\(", stmt)
        if not m or m.group(1).startswith("iommufd__"):
            continue
        if stmt.lstrip().startswith("typedef"):
            continue
        decls[m.group(1)] = (os.path.basename(h), norm(stmt) + ";")

if not decls:
    problems.append("no function found in include/iommufd/*.h")

def roff_args(line):
    out, i = [], 0
    while i < len(line):
        if line[i] in " \t":
            i += 1
        elif line[i] == '"':
            j = i + 1
            buf = ""
            while j < len(line):
                if line[j] == '"' and line[j + 1:j + 2] == '"':
                    buf += '"'
                    j += 2
                elif line[j] == '"':
                    break
                else:
                    buf += line[j]
                    j += 1
            out.append(buf)
            i = j + 1
        else:
            j = i
            while j < len(line) and line[j] not in " \t":
                j += 1
            out.append(line[i:j])
            i = j
    return out

def unescape(s):
    s = re.sub(r"\\f(\[[^\]]*\]|\(..|.)", "", s)
    s = s.replace("\\-", "-").replace("\\ ", " ").replace("\\e", "\\")
    s = s.replace("\\&", "").replace("\\(dq", '"')
    return s

def section(lines, name):
    out, on = [], False
    for l in lines:
        if l.startswith(".SH"):
            on = l[3:].strip().strip('"') == name
            continue
        if on:
            out.append(l)
    return out

def text_of(lines):
    words = []
    for l in lines:
        if l.startswith(".\\\"") or l.startswith("'\\\""):
            continue
        if l.startswith("."):
            req, _, rest = l.partition(" ")
            if req in (".B", ".I", ".SM", ".SB"):
                words.append(" ".join(roff_args(rest)))
            elif req in (".BI", ".BR", ".IR", ".RB", ".RI", ".IB"):
                words.append("".join(roff_args(rest)))
            continue
        words.append(l)
    return unescape(" ".join(words))

pages = {}
def load(path):
    if path not in pages:
        pages[path] = open(path, encoding="utf-8").read().split("\n")
    return pages[path]

def resolve(path):
    lines = [l for l in load(path) if l.strip() and not l.startswith('.\\"')]
    if len(lines) == 1 and lines[0].startswith(".so "):
        target = lines[0][4:].strip()
        tpath = os.path.join(man, os.path.basename(target))
        if not target.startswith("man3/") or not os.path.exists(tpath):
            problems.append("%s: .so to a missing page %s" % (os.path.relpath(path, src), target))
            return None
        return resolve(tpath)
    return path

for name, (header, proto) in sorted(decls.items()):
    page = os.path.join(man, name + ".3")
    if not os.path.exists(page):
        problems.append("%s() (include/iommufd/%s) has no page doc/man/%s.3" % (name, header, name))
        continue
    real = resolve(page)
    if real is None:
        continue
    lines = load(real)
    rel = os.path.relpath(real, src)
    names = text_of(section(lines, "NAME"))
    if not re.search(r"(^|[\s,])%s([\s,]|\\?-|$)" % re.escape(name), names):
        problems.append("%s: NAME does not list %s" % (rel, name))
    syn = text_of(section(lines, "SYNOPSIS"))
    if "#include <iommufd/%s>" % header not in syn:
        problems.append("%s: SYNOPSIS lacks #include <iommufd/%s> for %s" % (rel, header, name))
    if proto not in norm(syn):
        problems.append("%s: SYNOPSIS prototype of %s differs from the header's: %s" % (rel, name, proto))

listed = set()
mb = os.path.join(src, "doc", "meson.build")
if os.path.exists(mb):
    listed = set(re.findall(r"'man/([^']+\.3)'", open(mb, encoding="utf-8").read()))
else:
    problems.append("doc/meson.build is missing")
present = {os.path.basename(p) for p in glob.glob(os.path.join(man, "*.3"))}
for p in sorted(present - listed):
    problems.append("doc/man/%s is not listed in doc/meson.build" % p)
for p in sorted(listed - present):
    problems.append("doc/meson.build lists doc/man/%s, which does not exist" % p)

if lint:
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    for p in sorted(present):
        path = os.path.join(man, p)
        if resolve(path) != path:
            continue
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", path],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True)
        out = r.stdout.strip()
        if r.returncode or out:
            problems.append("doc/man/%s: groff: %s" % (p, out or "exit %d" % r.returncode))

problems = list(dict.fromkeys(problems))
for p in problems:
    print(p)
print("man pages: %d functions, %d pages, %d problems%s" %
      (len(decls), len(present), len(problems), "" if lint else " (groff not installed: no lint)"))
sys.exit(1 if problems else 0)
PY
