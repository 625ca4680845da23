/**
 * The sandbox's one error, loading nothing: the boundary refuses to start a command (an agent
 * set to sandbox `required` on a machine that cannot enforce it, a socket path longer than a Unix
 * socket's). It says what happened and, in `hint`, what to do; what that means to a run is the
 * invoker's to say (it turns a refusal into a permanent InvokeError: the message fails once, not
 * retried), so the sandbox knows nothing of the invoker or the queue.
 */
export class SandboxRefusal extends Error {
  readonly hint: string | undefined;

  constructor(message: string, options: { hint?: string } = {}) {
    super(message);
    this.name = 'SandboxRefusal';
    this.hint = options.hint;
  }
}
