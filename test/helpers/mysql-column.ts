import type { MysqlColumn } from "../../src/mysql/catalog.js";

/** A catalog column of this type, nullable and signed unless said otherwise (unit tests). */
export const mysqlColumn = (dataType: string, extra: Partial<MysqlColumn> = {}): MysqlColumn => ({
  name: "c",
  dataType,
  columnType: dataType,
  nullable: true,
  unsigned: false,
  fsp: 0,
  generated: false,
  ...extra,
});
