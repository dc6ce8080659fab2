//! A cache entry is found only by a key equal to the call's: the arguments compared for
//! equality (a hash only picks the bucket), the instance for a method, and the full type
//! instantiation (`Self`, impl and fn generics).

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use mcpstore_errors::{FallbackChain, ResponseCache};

const TEN_MINUTES: Duration = Duration::from_secs(600);

/// Two `u64`s whose `DefaultHasher` hashes are equal: the pair reported in the issue.
const COLLIDING: (u64, u64) = (5444564660425807139, 14813310245690780113);

fn default_hash(value: u64) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

/// A key whose every value hashes alike: any cache that trusts the hash serves one value to all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameHash(pub u32);

impl Hash for SameHash {
    fn hash<H: Hasher>(&self, _: &mut H) {}
}

#[test]
fn the_colliding_pair_really_collides() {
    // Guards the premise of the tests below: if the hasher changed, they would prove nothing.
    assert_eq!(default_hash(COLLIDING.0), default_hash(COLLIDING.1));
}

#[test]
fn response_cache_never_serves_a_colliding_key_another_keys_value() {
    let cache = ResponseCache::new(TEN_MINUTES, 100);
    cache.insert(COLLIDING.0, "A's data");
    assert_eq!(cache.get(&COLLIDING.1), None);
    cache.insert(COLLIDING.1, "B's data");
    assert_eq!(cache.len(), 2);
    assert_eq!(cache.get(&COLLIDING.0), Some("A's data"));
    assert_eq!(cache.get(&COLLIDING.1), Some("B's data"));
}

#[test]
fn response_cache_tells_apart_keys_that_all_hash_alike() {
    let cache = ResponseCache::new(TEN_MINUTES, 100);
    for n in 0..10 {
        cache.insert(SameHash(n), n);
    }
    for n in 0..10 {
        assert_eq!(cache.get(&SameHash(n)), Some(n));
    }
    assert_eq!(cache.get(&SameHash(10)), None);
}

// The chain hashes its operation name with the arguments, so the pair does not collide there;
// a key type whose values all hash alike does.
#[test]
fn a_chain_cache_tells_apart_arguments_that_all_hash_alike() {
    let chain = FallbackChain::new()
        .operation("load")
        .cache(ResponseCache::new(TEN_MINUTES, 100));
    assert_eq!(
        chain.execute(&SameHash(1), |_| Ok::<_, String>("one")),
        Ok("one")
    );
    assert_eq!(
        chain.execute(&SameHash(2), |_| Err("down".to_string())),
        Err("down".to_string())
    );
    assert_eq!(
        chain.execute(&SameHash(1), |_| Err("down".to_string())),
        Ok("one")
    );
}

#[test]
fn a_chain_cache_never_serves_a_colliding_argument_another_arguments_value() {
    let chain = FallbackChain::new()
        .operation("load")
        .cache(ResponseCache::new(TEN_MINUTES, 100));
    assert_eq!(
        chain.execute(&COLLIDING.0, |_| Ok::<_, String>("A's data")),
        Ok("A's data")
    );
    assert_eq!(
        chain.execute(&COLLIDING.1, |_| Err("down".to_string())),
        Err("down".to_string())
    );
    assert_eq!(
        chain.execute(&COLLIDING.0, |_| Err("down".to_string())),
        Ok("A's data")
    );
}

#[test]
fn response_cache_looks_up_a_string_key_by_str() {
    let cache = ResponseCache::new(TEN_MINUTES, 4);
    cache.insert(String::from("fs"), 1);
    assert_eq!(cache.get("fs"), Some(1));
    assert_eq!(cache.get(&String::from("fs")), Some(1));
    assert_eq!(cache.get("web"), None);
}

#[test]
fn a_chain_over_str_arguments_keys_by_value_not_by_address() {
    let chain = FallbackChain::new().cache(ResponseCache::new(TEN_MINUTES, 4));
    let first = String::from("fs");
    chain
        .execute(first.as_str(), |_| Ok::<_, String>(7))
        .unwrap();
    drop(first);
    let second = String::from("fs");
    assert_eq!(
        chain.execute(second.as_str(), |_| Err("down".to_string())),
        Ok(7)
    );
}
