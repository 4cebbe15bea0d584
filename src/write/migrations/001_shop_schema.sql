-- The demo domain: a small shop. Every table has a primary key (Debezium keys
-- its Kafka messages by it and ClickHouse orders the projection by it).
CREATE SCHEMA IF NOT EXISTS shop;

CREATE TYPE shop.order_status AS ENUM ('placed', 'paid', 'shipped', 'cancelled');

CREATE TABLE shop.customers (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email       text NOT NULL UNIQUE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1
);

CREATE TABLE shop.products (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  price       numeric(12, 2) NOT NULL CHECK (price >= 0),
  stock       integer NOT NULL DEFAULT 0 CHECK (stock >= 0),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  version     integer NOT NULL DEFAULT 1
);

CREATE TABLE shop.orders (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  customer_id  uuid NOT NULL REFERENCES shop.customers (id),
  status       shop.order_status NOT NULL DEFAULT 'placed',
  total        numeric(14, 2) NOT NULL CHECK (total >= 0),
  placed_at    timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  version      integer NOT NULL DEFAULT 1
);
CREATE INDEX orders_customer_idx ON shop.orders (customer_id);

CREATE TABLE shop.order_lines (
  order_id    uuid NOT NULL REFERENCES shop.orders (id) ON DELETE CASCADE,
  line_no     integer NOT NULL CHECK (line_no > 0),
  product_id  uuid NOT NULL REFERENCES shop.products (id),
  quantity    integer NOT NULL CHECK (quantity > 0),
  unit_price  numeric(12, 2) NOT NULL CHECK (unit_price >= 0),
  PRIMARY KEY (order_id, line_no)
);

-- Full before-images in the change events (Debezium's `before`), for updates and
-- deletes alike: the change stream then doubles as an audit trail of the demo.
ALTER TABLE shop.customers REPLICA IDENTITY FULL;
ALTER TABLE shop.products REPLICA IDENTITY FULL;
ALTER TABLE shop.orders REPLICA IDENTITY FULL;
ALTER TABLE shop.order_lines REPLICA IDENTITY FULL;
