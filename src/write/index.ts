export { createWriteApp, type WriteAppConfig, type WriteAppDeps } from "./app.js";
export { type RunningWriteApi, type StartWriteApiDeps, startWriteApi } from "./server.js";
export { type ConsistencyToken, type TxResult, withTransaction } from "./tx.js";
