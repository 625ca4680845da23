/** The names of this machine's loopback, which an agent's proxy settings must leave direct (NO_PROXY): the API, `tinyagi call`, a model server on the host. */
export const LOOPBACK_HOSTS: readonly string[] = ['127.0.0.1', 'localhost', '::1'];
