import { useSharedTopology } from '../shared-topology.js';

// Each test file has its own copy of process.env: this names the topology for this project's files only.
useSharedTopology('sentinel');
