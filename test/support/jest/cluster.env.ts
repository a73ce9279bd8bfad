// Each test file has its own copy of process.env: this names the topology for this project's files only.
process.env.E2E_REDIS_TOPOLOGY = 'cluster';
