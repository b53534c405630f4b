#!/usr/bin/python3
"""Lint: module layering of #include "featreuse/<module>/..." and no citations
of files outside the repository.

Usage: check_includes.py [REPO_ROOT]   (default: two levels above this script)

1. Layering. A file of module M (anything under src/M/ or include/featreuse/M/)
   may include "featreuse/N/..." only if N == M or N is in M's transitive
   dependencies as declared in src/M/CMakeLists.txt: featreuse_module(M DEPS ...)
   plus any target_link_libraries() of a target declared there (src/app
   declares an executable and links it with target_link_libraries). Only
   featreuse_<module> targets count; external targets (featreuse::torch,
   MPI::MPI_C, ...) are ignored. Every target exports the whole include/ tree,
   so an upward header-only include would compile; this check rejects it.
   A module directory whose CMakeLists.txt cannot be parsed is an error, so the
   check cannot pass by finding nothing.

2. Citations. Lines of sources, tests, docs, scripts and configs must not cite
   files that live outside the repository (see OUTSIDE_MARKERS).

Exits 1 on any violation or error, 0 otherwise. Standard library only.
"""

import os
import re
import sys

SOURCE_EXTENSIONS = (".cpp", ".hpp", ".h", ".cc", ".hh", ".cxx", ".hxx", ".inl", ".ipp", ".tpp")

# Paths (relative to the repository root) whose text lines must not cite
# files outside the repository.
CITATION_ROOTS = ("src", "include", "tests", "docs", "README.md", "scripts", "configs", "jobs",
                  "benchmarks")
# Built by concatenation so that this file does not match its own check.
OUTSIDE_MARKERS = ("../" + "shared", "shared/" + "reference", "DESIGN" + ".md", "reference-" + "implementation.md")
SKIP_DIRS = {".git", "__pycache__", ".pytest_cache"}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*[<"](featreuse/[^">]*)[">]')
CALL_RE = re.compile(r"\b(featreuse_module|add_library|add_executable|target_link_libraries)\s*\(")
KEYWORDS_TLL = {"PUBLIC", "PRIVATE", "INTERFACE", "LINK_PUBLIC", "LINK_PRIVATE", "LINK_INTERFACE_LIBRARIES"}


class ParseError(Exception):
    pass


def strip_cmake_comments(text):
    """Removes # comments (not inside "strings"); bracket comments are not used here."""
    out = []
    for line in text.splitlines():
        in_string = False
        cut = len(line)
        for i, ch in enumerate(line):
            if ch == '"' and (i == 0 or line[i - 1] != "\\"):
                in_string = not in_string
            elif ch == "#" and not in_string:
                cut = i
                break
        out.append(line[:cut])
    return "\n".join(out)


def cmake_calls(text):
    """Yields (command, [arguments]) for the commands this check reads."""
    text = strip_cmake_comments(text)
    for m in CALL_RE.finditer(text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "(":
                depth += 1
            elif text[i] == ")":
                depth -= 1
            i += 1
        if depth:
            raise ParseError("unbalanced parentheses in %s(" % m.group(1))
        yield m.group(1), text[m.end():i - 1].split()


def is_target_name(token):
    return "${" not in token and "$<" not in token and '"' not in token


def parse_module_dir(root, module):
    """Returns ({target: set(deps)}, main target) declared by src/<module>/CMakeLists.txt."""
    path = os.path.join(root, "src", module, "CMakeLists.txt")
    if not os.path.isfile(path):
        raise ParseError("src/%s/ has no CMakeLists.txt" % module)
    with open(path, encoding="utf-8") as f:
        calls = list(cmake_calls(f.read()))
    targets = {}
    module_calls = []
    for command, args in calls:
        if command == "featreuse_module":
            if not args:
                raise ParseError("src/%s/CMakeLists.txt: featreuse_module() without a name" % module)
            name, deps, section = args[0], set(), None
            for token in args[1:]:
                if token in ("DEPS", "EXCLUDE"):
                    section = token
                elif section == "DEPS" and is_target_name(token):
                    deps.add(token)
                elif section is None:
                    raise ParseError("src/%s/CMakeLists.txt: featreuse_module(%s): unexpected '%s'"
                                     % (module, name, token))
            module_calls.append(name)
            targets.setdefault("featreuse_" + name, set()).update(deps)
        elif command in ("add_library", "add_executable") and args:
            targets.setdefault(args[0], set())
    for command, args in calls:
        if command == "target_link_libraries" and args:
            if args[0] not in targets:
                raise ParseError("src/%s/CMakeLists.txt: target_link_libraries(%s) of a target not "
                                 "declared there" % (module, args[0]))
            targets[args[0]].update(t for t in args[1:] if t not in KEYWORDS_TLL and is_target_name(t))
    if module_calls:
        if module_calls != [module]:
            raise ParseError("src/%s/CMakeLists.txt: expected one featreuse_module(%s ...), found %s"
                             % (module, module, ", ".join("featreuse_module(%s)" % n for n in module_calls)))
        return targets, "featreuse_" + module
    # No featreuse_module: only an executable module (src/app) is accepted.
    executables = [args[0] for command, args in calls if command == "add_executable" and args]
    if len(executables) == 1 and any(c == "target_link_libraries" and a and a[0] == executables[0]
                                     for c, a in calls):
        return targets, executables[0]
    raise ParseError("src/%s/CMakeLists.txt: no parseable featreuse_module(%s DEPS ...) call (or, for "
                     "an executable module, add_executable + target_link_libraries)" % (module, module))


def module_dependencies(root):
    """Returns {module: set of modules it may include} (itself included)."""
    src = os.path.join(root, "src")
    include = os.path.join(root, "include", "featreuse")
    modules = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)) and d not in SKIP_DIRS)
    headers = sorted(d for d in os.listdir(include) if os.path.isdir(os.path.join(include, d)))
    errors = []
    for h in headers:
        if h not in modules:
            errors.append("include/featreuse/%s/ has no module src/%s/ declaring its dependencies" % (h, h))
    target_deps, target_module, main_target, unparsed = {}, {}, {}, set()
    for module in modules:
        try:
            targets, main = parse_module_dir(root, module)
        except ParseError as e:
            errors.append(str(e))
            unparsed.add("featreuse_" + module)
            continue
        main_target[module] = main
        for target, deps in targets.items():
            if target in target_module:
                errors.append("target %s declared in src/%s and src/%s" % (target, target_module[target], module))
            target_module[target] = module
            target_deps[target] = {d for d in deps if d.startswith("featreuse_")}
    for target, deps in sorted(target_deps.items()):
        for d in sorted(deps - set(target_module) - unparsed):
            errors.append("%s (src/%s) depends on %s, which no src/*/CMakeLists.txt declares"
                          % (target, target_module[target], d))
    if errors:
        return None, errors
    allowed = {}
    for module in main_target:
        seen, stack = set(), [t for t, m in target_module.items() if m == module]
        while stack:
            t = stack.pop()
            if t in seen:
                continue
            seen.add(t)
            stack.extend(d for d in target_deps.get(t, ()) if d in target_module)
        allowed[module] = {target_module[t] for t in seen} | {module}
    return allowed, []


def walk_files(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            yield os.path.join(dirpath, name)


def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        return None  # binary (weights, fuzz corpora)
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None


def check_layering(root, allowed):
    violations, files, includes = [], 0, 0
    sources = [("src", os.path.join(root, "src")), ("include", os.path.join(root, "include", "featreuse"))]
    for kind, top in sources:
        if not os.path.isdir(top):
            continue
        for path in walk_files(top):
            if not path.endswith(SOURCE_EXTENSIONS):
                continue
            rel = os.path.relpath(path, root)
            parts = os.path.relpath(path, top).split(os.sep)
            if len(parts) < 2:
                violations.append("%s: file outside any module directory" % rel)
                continue
            module = parts[0]
            lines = read_lines(path)
            if lines is None:
                continue
            files += 1
            for number, line in enumerate(lines, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                includes += 1
                included = m.group(1)
                target = included.split("/")
                if len(target) < 3 or target[1] not in allowed:
                    violations.append("%s:%d: module '%s' includes '%s', which is not in a module "
                                      "(include/featreuse/<module>/...)" % (rel, number, module, included))
                elif target[1] not in allowed[module]:
                    violations.append("%s:%d: module '%s' includes '%s' but does not depend on '%s'"
                                      % (rel, number, module, included, target[1]))
    return violations, files, includes


def check_citations(root):
    violations, files = [], 0
    for entry in CITATION_ROOTS:
        top = os.path.join(root, entry)
        if os.path.isfile(top):
            paths = [top]
        elif os.path.isdir(top):
            paths = walk_files(top)
        else:
            continue
        for path in paths:
            lines = read_lines(path)
            if lines is None:
                continue
            files += 1
            rel = os.path.relpath(path, root)
            for number, line in enumerate(lines, 1):
                hits = [marker for marker in OUTSIDE_MARKERS if marker in line]
                if hits:
                    violations.append("%s:%d: cites '%s', outside the repository: %s"
                                      % (rel, number, hits[0], line.strip()[:160]))
    return violations, files


def main(argv):
    if len(argv) > 2:
        print("usage: check_includes.py [REPO_ROOT]", file=sys.stderr)
        return 2
    root = os.path.abspath(argv[1] if len(argv) == 2 else
                           os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    for required in ("src", os.path.join("include", "featreuse")):
        if not os.path.isdir(os.path.join(root, required)):
            print("check_includes: %s is not the featreuse repository (no %s/)" % (root, required),
                  file=sys.stderr)
            return 2

    allowed, errors = module_dependencies(root)
    for e in errors:
        print("error: " + e)
    if errors:
        print("check_includes: FAILED: could not read the module dependencies (%d error(s)); "
              "nothing was checked" % len(errors))
        return 1

    layering, layering_files, includes = check_layering(root, allowed)
    for v in layering:
        print(v)
    citations, citation_files = check_citations(root)
    for v in citations:
        print(v)

    summary = ", ".join("%s: %s" % (m, " ".join(sorted(allowed[m] - {m})) or "-") for m in sorted(allowed))
    print("check_includes: %d modules (may include: %s)" % (len(allowed), summary))
    print("check_includes: %d layering violation(s) in %d featreuse includes of %d source files; %d citation(s) "
          "of files outside the repository in %d files"
          % (len(layering), includes, layering_files, len(citations), citation_files))
    if layering:
        print("  fix: include only modules the file's module links (src/<module>/CMakeLists.txt DEPS), "
              "or move the code down to a module both can use")
    if citations:
        print("  fix: state the fact itself instead of citing a file that is not in the repository")
    return 1 if layering or citations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
