// The migrations are embedded in the binary (`diesel_migrations::embed_migrations!`): a new
// migration folder must rebuild it, which cargo only knows when told.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
