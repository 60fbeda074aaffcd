'use strict';
// `--baseline REF`: another commit of this repository, checked out in a temporary git worktree and built there, so
// that `--compare` can run it beside this tree. The worktree borrows this checkout's installed packages (the
// dependencies must be the same at both commits) but gets its own `@portcullis/*` links, so that each side runs its
// own build of the workspace packages.
const { execFileSync } = require('node:child_process');
const { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { buildDist, log } = require('./harness');
const { repoRoot } = require('./gateway');

/** Checks out and builds `ref`; returns its folder, the commit it resolved to, and `remove()`. */
function prepareBaseline(ref) {
  const commit = execFileSync('git', ['rev-parse', '--verify', `${ref}^{commit}`], { cwd: repoRoot, encoding: 'utf8' }).trim();
  const root = mkdtempSync(join(tmpdir(), 'portcullis-baseline-'));
  log(`baseline ${ref} (${commit.slice(0, 12)}): worktree in ${root}`);
  execFileSync('git', ['worktree', 'add', '--detach', root, commit], { cwd: repoRoot, stdio: 'ignore' });
  const remove = () => {
    try {
      execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: repoRoot, stdio: 'ignore' });
    } catch {
      rmSync(root, { recursive: true, force: true });
      execFileSync('git', ['worktree', 'prune'], { cwd: repoRoot, stdio: 'ignore' });
    }
  };
  try {
    const modules = join(root, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(repoRoot, 'node_modules'))) {
      if (name !== '@portcullis') symlinkSync(join(repoRoot, 'node_modules', name), join(modules, name));
    }
    // npm links the workspace packages relatively (`../../libs/bus`): copied as links, they point into the worktree.
    cpSync(join(repoRoot, 'node_modules', '@portcullis'), join(modules, '@portcullis'), { recursive: true, verbatimSymlinks: true });
    buildDist(root);
  } catch (error) {
    remove();
    throw error;
  }
  return { root, commit, remove };
}

module.exports = { prepareBaseline };
