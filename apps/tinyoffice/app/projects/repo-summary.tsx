'use client';
/**
 * A chosen project's repository binding in a few lines above its board (or "Not bound"), with
 * the button that opens the Repository dialog (repo-binding.tsx, loaded only when opened).
 */
import { joinArgv, type Project, type ProjectRepo } from '@tinyagi/client';
import { Button } from '@/components/ui';

/** The binding's auto-merge in words ("when checks pass, a merge commit"). */
function autoMergeText(autoMerge: ProjectRepo['autoMerge']): string {
  if (!autoMerge) return 'a person merges';
  const how = autoMerge.method === 'ff' ? 'a fast-forward' : 'a merge commit';
  return autoMerge.when === 'checked' ? `when checks pass (${how})` : `when approved by ${autoMerge.approvals} (${how})`;
}

/** A bound project's binding in a few lines, and the button that opens the dialog. */
export function RepoSummary({ project, onEdit }: { project: Project; onEdit: () => void }) {
  const repo = project.repo;
  return (
    <section aria-label="Repository" data-testid="repo-summary" className="rounded-lg border border-slate-200 bg-white px-3 py-2 text-sm dark:border-slate-800 dark:bg-slate-900">
      <div className="flex flex-wrap items-center gap-x-3 gap-y-1">
        <h2 className="font-semibold">Repository</h2>
        {repo ? (
          <code className="min-w-0 break-all font-mono text-xs" data-testid="repo-location">
            {repo.path ?? repo.url}
          </code>
        ) : (
          <span className="text-slate-600 dark:text-slate-300">Not bound: tasks here get no worktree, checks or merge.</span>
        )}
        <Button className="ml-auto" onClick={onEdit}>
          {repo ? 'Edit binding' : 'Bind to a repository'}
        </Button>
      </div>
      {repo && (
        <dl className="mt-1 flex flex-wrap gap-x-4 gap-y-0.5 text-xs text-slate-700 dark:text-slate-300">
          {repo.node && <Fact term="node" value={repo.node} />}
          <Fact term="base" value={repo.baseRef} />
          {repo.remote && <Fact term="remote" value={repo.remote} />}
          <Fact term="branches" value={repo.branchTemplate} />
          {repo.files.length > 0 && <Fact term="files" value={repo.files.map((f) => `${f.path} (${f.mode})`).join(', ')} />}
          {repo.setup && <Fact term="setup" value={joinArgv(repo.setup.argv)} />}
          <Fact term="checks" value={repo.checks.length === 0 ? 'none' : repo.checks.map((c) => c.name).join(', ')} />
          <Fact term="rounds" value={String(repo.maxRounds)} />
          <Fact term="merge" value={autoMergeText(repo.autoMerge)} prose />
          {repo.forge && <Fact term="forge" value={`${repo.forge.kind === 'github' ? 'GitHub' : repo.forge.kind} ${repo.forge.owner}/${repo.forge.repo}`} />}
        </dl>
      )}
    </section>
  );
}

function Fact({ term, value, prose = false }: { term: string; value: string; prose?: boolean }) {
  return (
    <div className="flex min-w-0 gap-1">
      <dt className="text-slate-600 dark:text-slate-400">{term}</dt>
      <dd className={`min-w-0 ${prose ? '' : 'break-all font-mono'}`}>{value}</dd>
    </div>
  );
}
