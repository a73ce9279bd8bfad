const sharedTopology = require('./load-ts.cjs');

module.exports = () => sharedTopology().startSharedTopology('sentinel');
