//! A consistent copy of the whole database: every table (see
//! [`tables::each_table`](super::tables::each_table)) read in one read
//! transaction and written into a fresh redb database, which is then a
//! complete database on its own (what a backup carries).
//!
//! Invariants:
//! - One read transaction: the copy holds every write committed before it
//!   began and nothing of a write committed after, never part of one (redb
//!   keeps the snapshot's pages while the transaction lives).
//! - The writer is never blocked: a read transaction does not wait for it and
//!   it does not wait for a read transaction. The copy costs it only the
//!   pages the snapshot keeps alive meanwhile.
//! - Rows are copied as stored (bytes, not decoded records), so the copy is
//!   the same data under the same schema version.

use std::fs::File;
use std::sync::Arc;

use redb::{
    Database, Key, ReadTransaction, ReadableTable, TableDefinition, Value, WriteTransaction,
};

use super::StoreError;
use super::tables::{TableVisitor, each_table};

/// Copies every table of `source` into a new database created in `file`
/// (empty), committed, compacted (redb sets room aside as it grows a file:
/// a copy of a small database would be ten times its size) and closed when
/// this returns.
pub fn copy_into(source: &ReadTransaction, file: File) -> Result<(), StoreError> {
    let mut target = Database::builder()
        .create_file(file)
        .map_err(|e| StoreError::Storage(Arc::new(e.into())))?;
    let tx = target.begin_write()?;
    each_table(&mut CopyTable {
        source,
        target: &tx,
    })?;
    tx.commit()?;
    target
        .compact()
        .map_err(|e| StoreError::Storage(Arc::new(e.into())))?;
    Ok(())
}

struct CopyTable<'a> {
    source: &'a ReadTransaction,
    target: &'a WriteTransaction,
}

impl TableVisitor for CopyTable<'_> {
    fn visit<K: Key + 'static, V: Value + 'static>(
        &mut self,
        table: TableDefinition<'static, K, V>,
    ) -> Result<(), StoreError> {
        let source = self.source.open_table(table)?;
        let mut target = self.target.open_table(table)?;
        for row in source.iter()? {
            let (key, value) = row?;
            target.insert(key.value(), value.value())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};

    use super::*;
    use crate::metrics::Metrics;
    use crate::store::tables::*;
    use crate::store::{Store, codec};

    /// Counts every table's rows.
    struct Count<'a>(&'a ReadTransaction, Vec<u64>);

    impl TableVisitor for Count<'_> {
        fn visit<K: Key + 'static, V: Value + 'static>(
            &mut self,
            table: TableDefinition<'static, K, V>,
        ) -> Result<(), StoreError> {
            self.1.push(self.0.open_table(table)?.len()?);
            Ok(())
        }
    }

    fn counts(tx: &ReadTransaction) -> Vec<u64> {
        let mut count = Count(tx, Vec::new());
        each_table(&mut count).unwrap();
        count.1
    }

    #[actix_web::test]
    async fn the_copy_holds_every_table_as_of_its_read_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 16, Arc::new(Metrics::default())).unwrap();
        let write = |key: &'static str, value: u32| {
            store.write(move |tx| {
                tx.open_table(META)?
                    .insert(key, codec::encode(&value).as_slice())?;
                tx.open_table(TICKET_NUMBERS)?
                    .insert(u64::from(value), u128::from(value))?;
                Ok(())
            })
        };
        write("before", 1).await.unwrap();
        let snapshot = store.read().unwrap();
        write("after", 2).await.unwrap();

        let file = dir.path().join("copy.redb");
        copy_into(&snapshot, File::create_new(&file).unwrap()).unwrap();
        let copy = Database::open(&file).unwrap();
        let tx = copy.begin_read().unwrap();
        let meta = tx.open_table(META).unwrap();
        assert!(meta.get("before").unwrap().is_some());
        assert!(
            meta.get("after").unwrap().is_none(),
            "written after the snapshot"
        );
        assert_eq!(counts(&tx), counts(&snapshot));
        let mut names: Vec<String> = tx
            .list_tables()
            .unwrap()
            .map(|t| t.name().to_owned())
            .collect();
        names.sort();
        let mut declared = TABLE_NAMES.to_vec();
        declared.sort();
        assert_eq!(names, declared, "every declared table, and only those");
    }
}
