// A node that cannot mount an overlay (layers.test.ts runs it in a user namespace without mount
// rights, as a container gives a user, with no fuse-overlayfs on its PATH): what its worktrees are.
const [repoDir, worktreeRoot] = process.argv.slice(2);
const { resolveProjectRepo } = await import('../src/project-repo.ts');
const { createTaskWorktree } = await import('../src/worktrees.ts');
const project = (checkout) => resolveProjectRepo({ path: repoDir, baseRef: 'main', worktreeRoot, files: [{ path: 'node_modules', mode: 'copy' }], checkout }, { projectId: 'p1', home: worktreeRoot });
const auto = await createTaskWorktree(project('auto'), { id: 'task-1', identifier: 'P-1', title: 'one' });
let refused = null;
try {
  await createTaskWorktree(project('layered'), { id: 'task-2', identifier: 'P-2', title: 'two' });
} catch (err) {
  refused = { code: err.code, message: err.message };
}
console.log(JSON.stringify({ checkout: auto.checkout, files: auto.files, refused }));
